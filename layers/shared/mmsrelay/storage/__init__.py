"""DynamoDB access: item layouts and the repository that reads and writes them."""
