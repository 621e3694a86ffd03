"""moto applies a bucket policy's Deny without evaluating its condition, so the engine's
`aws:SecureTransport = false` Deny refuses every object request on the local stack (AWS refuses
only plain HTTP; see control-plane/cloud/tests/aws/s3.rs and tests/e2e/conftest.py). For the
browser tests' lifetime, lift that policy from every bucket as soon as the engine has set it, so
agents can upload snapshots and audit logs and the control plane can read them.

usage: python lift_tls_policies.py AWS_ENDPOINT_URL   (runs until killed)
"""

import sys
import time

import boto3
from botocore.exceptions import ClientError

POLL_SECONDS = 0.5


def main(endpoint: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    lifted = set()
    while True:
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            if name in lifted:
                continue
            try:
                policy = s3.get_bucket_policy(Bucket=name)["Policy"]
            except ClientError:
                continue  # no policy yet: the engine sets it right after creating the bucket
            if "aws:SecureTransport" in policy:
                s3.delete_bucket_policy(Bucket=name)
                lifted.add(name)
                print(f"lifted the TLS-only policy of {name}", flush=True)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    main(sys.argv[1])
