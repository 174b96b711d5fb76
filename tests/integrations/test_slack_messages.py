"""What the app writes in Slack cannot ping a channel or forge a link: Slack's control
characters in documents, titles and questions are escaped."""

from integrations.slack_messages import answer_in_progress, mrkdwn_escape


def test_text_from_documents_cannot_mention_a_channel_or_make_a_link():
    text = "Reply to <!channel> at <https://evil.example|the portal> & **today**"

    assert answer_in_progress(text) == (
        "Reply to &lt;!channel&gt; at &lt;https://evil.example|the portal&gt; &amp; *today*"
    )
    assert mrkdwn_escape("<@U123>") == "&lt;@U123&gt;"
