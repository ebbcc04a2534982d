"""E-mail: an outbox table written in the transaction of what a message is about, and a background
sender that delivers it through the configured SMTP server, with retries."""
