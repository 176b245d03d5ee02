"""Media: fetching attachments safely from the network and storing them in S3."""
