"""Read what Alertmanager sent to the sink, whatever the receiver type, as one kind of event.

- webhook (`webhook_configs`): Alertmanager's JSON with every alert's labels; one event per alert.
- slack (`slack_configs`): a chat message; the status and text are what a person reads, the receiver name
  is in Alertmanager's default `title_link` (`.../#/alerts?receiver=NAME`). One event per message, carrying
  the message text so a test can check which labels a person is shown.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field

from .sink import Notification


@dataclass(frozen=True)
class AlertEvent:
    arrival: float
    channel: str  # "webhook" | "slack"
    secret: str  # the secret file (= sink path) the notification was sent to
    receiver: str
    status: str  # "firing" | "resolved"
    alertname: str
    labels: dict[str, str] = field(hash=False)  # full labels (webhook); {} for chat messages
    message: str = ""  # what a person reads (chat), "" for webhook

    def shows(self, label: str, value: str) -> bool:
        """Whether the label is there with this value (webhook), or the value is a word of the message (chat)."""
        if self.channel == "webhook":
            return self.labels.get(label) == value
        return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", self.message) is not None


_SLACK_TITLE = re.compile(r"^\[(FIRING|RESOLVED)(?::\d+)?\]\s+(\S+)")


def decode(notification: Notification) -> list[AlertEvent]:
    body, secret = notification.body, notification.path.strip("/")
    if "alerts" in body:  # webhook
        return [
            AlertEvent(
                arrival=notification.arrival,
                channel="webhook",
                secret=secret,
                receiver=body.get("receiver", ""),
                status=alert["status"],
                alertname=alert["labels"].get("alertname", ""),
                labels=dict(alert["labels"]),
            )
            for alert in body["alerts"]
        ]
    events = []
    for attachment in body.get("attachments", []):  # slack
        title = attachment.get("title", "")
        found = _SLACK_TITLE.match(title)
        if not found:
            raise AssertionError(f"a Slack notification's title does not start with [FIRING|RESOLVED] ALERT: {title!r}")
        link = urllib.parse.urlsplit(attachment.get("title_link", ""))
        receiver = urllib.parse.parse_qs(link.fragment.partition("?")[2]).get("receiver", [""])[0]
        events.append(
            AlertEvent(
                arrival=notification.arrival,
                channel="slack",
                secret=secret,
                receiver=receiver,
                status=found.group(1).lower(),
                alertname=found.group(2),
                labels={},
                message=f"{title}\n{attachment.get('text', '')}",
            )
        )
    return events
