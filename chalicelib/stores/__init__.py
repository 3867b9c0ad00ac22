"""Stores: DynamoDB item conversion and the conditional writes behind each port."""
