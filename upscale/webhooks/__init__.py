"""Outgoing webhooks: the final result of an upscale request, POSTed to the customer's URL,
signed with the account's secret, retried with exponential back-off, every attempt recorded."""
