"""What the stack provisions and the flows count on: its region, the one whitelisted
application and its redirect, and the password of every user a flow makes."""

REGION = "us-east-1"
CLIENT = "iam_client"
REDIRECT = "https://iam.example/cb"
PASSWORD = "correct horse"
