"""S3 (or any S3-compatible store) as the default storage: the bucket's origins for the page's CSP,
and presigned POSTs that let a browser upload straight to the bucket.

Nothing here makes an object public: the storage writes them private (``default_acl``), presigned
GETs live ``AWS_QUERYSTRING_EXPIRE`` seconds (at most 300, see chatsite/checks.py), and a
presigned POST admits one key, one content type and a size range.
"""

from urllib.parse import urlsplit


def bucket_origins(bucket: str, options: dict) -> list[str]:
    """Where the browser fetches presigned URLs from (and posts uploads to)."""
    endpoint = options.get("endpoint_url")
    if endpoint:
        parts = urlsplit(endpoint)
        # botocore addresses a custom endpoint by path (http://host:port/bucket/key).
        return [f"{parts.scheme}://{parts.netloc}"]
    region = options.get("region_name")
    origins = [f"https://{bucket}.s3.amazonaws.com"]
    if region:
        origins.append(f"https://{bucket}.s3.{region}.amazonaws.com")
    return origins


def admit_bucket(policy: dict, origins: list[str]) -> dict:
    """The page's CSP (django-csp's CONTENT_SECURITY_POLICY) with the bucket admitted where the page
    loads files (presigned redirects of images, audio, video, avatars) and posts uploads to."""
    directives = {name: list(values) for name, values in policy["DIRECTIVES"].items()}
    for directive in ("img-src", "media-src", "connect-src"):
        directives[directive] = directives.get(directive, []) + [o for o in origins if o not in directives.get(directive, [])]
    return {**policy, "DIRECTIVES": directives}


def is_s3(storage) -> bool:
    return hasattr(storage, "bucket_name")


def presigned_post(storage, *, key: str, content_type: str, max_bytes: int, expires: int) -> dict:
    """{url, fields} for a form POST of exactly one object at ``key``, of ``content_type``, of 1 to
    ``max_bytes`` bytes; S3 refuses anything else (the policy is signed)."""
    client = storage.connection.meta.client
    return client.generate_presigned_post(
        Bucket=storage.bucket_name, Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires,
    )


def head(storage, key: str) -> dict | None:
    """The object's size and type as stored, None when it is not there."""
    from botocore.exceptions import ClientError

    try:
        reply = storage.connection.meta.client.head_object(Bucket=storage.bucket_name, Key=key)
    except ClientError:
        return None
    return {"size": reply["ContentLength"], "content_type": reply.get("ContentType", "")}
