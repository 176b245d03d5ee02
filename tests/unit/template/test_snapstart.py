"""SnapStart (``EnableSnapStart``): the webhook functions publish versions through the alias the API
invokes, from a snapshot when the switch is on; the queue and stream consumers do not."""

from __future__ import annotations

from tests.template import Tag, resources

WEBHOOKS = {"InboundFunction", "ReceiptFunction", "MediaLinkFunction", "QueryFunction"}


def test_the_webhook_functions_and_only_they_publish_to_the_alias_live() -> None:
    # Given the template's functions, Then exactly the webhook functions have an alias published on deploy
    published = {
        name
        for name, body in resources("AWS::Serverless::Function").items()
        if "AutoPublishAlias" in body["Properties"]
    }
    assert published == WEBHOOKS
    assert {resources("AWS::Serverless::Function")[name]["Properties"]["AutoPublishAlias"] for name in WEBHOOKS} == {
        "live"
    }


def test_snapstart_follows_the_switch_and_switching_publishes_a_version() -> None:
    for name in WEBHOOKS:
        properties = resources("AWS::Serverless::Function")[name]["Properties"]
        # Then SnapStart applies to published versions when the switch is on, to none otherwise
        assert properties["SnapStart"] == {"ApplyOn": Tag("If", ["SnapStartEnabled", "PublishedVersions", "None"])}
        # And the version's description (a change replaces the version: a new one is published) names the switch
        assert properties["VersionDescription"] == Tag("Sub", "SnapStart ${EnableSnapStart}")
