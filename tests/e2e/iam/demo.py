"""What the stack provisions and the flows count on: its region, the whitelisted
applications (one with refresh tokens) and their redirect, and the password of every user
a flow makes."""

REGION = "us-east-1"
CLIENT = "iam_client"
# Gets refresh tokens (app add --refresh-tokens, no grace): a retired one is reuse at once.
REFRESHING = "iam_refreshing"
# Registered for the device authorization grant (app add --device-grant).
DEVICE_CLIENT = "iam_device"
REDIRECT = "https://iam.example/cb"
PASSWORD = "correct horse"
