"""The cluster's buckets in moto, read the way an auditor with AWS credentials would."""

import os

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def list_keys(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def key_matches(sse_key_id, key_id, key_arn):
    """HeadObject reports the key as an ARN or an id; either must be the cluster's key."""
    return bool(sse_key_id) and (sse_key_id == key_arn or sse_key_id == key_id or sse_key_id.endswith("/" + key_id))
