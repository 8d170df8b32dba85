"""Which S3 action a request is, as S3 maps it: GET/HEAD object = ``s3:GetObject``; with
``versionId`` = ``s3:GetObjectVersion``; ``?tagging`` / ``?acl`` ... their own actions; a
bucket-level GET (no key) is ListObjects = ``s3:ListBucket``; writes map to
``s3:PutObject`` / ``s3:DeleteObject`` (``s3:DeleteObjectVersion`` with ``versionId``).

Sources: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html ("Permissions"),
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
"""

from __future__ import annotations

from collections.abc import Mapping

# Object subresources and their (plain, with versionId) actions, per HTTP method.
_OBJECT_SUBRESOURCES = {
    "GET": {
        "tagging": ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        "acl": ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        "attributes": ("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        "retention": ("s3:GetObjectRetention", "s3:GetObjectRetention"),
        "legal-hold": ("s3:GetObjectLegalHold", "s3:GetObjectLegalHold"),
        "torrent": ("s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"),
        "uploadId": ("s3:ListMultipartUploadParts", "s3:ListMultipartUploadParts"),
    },
    "PUT": {
        "tagging": ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        "acl": ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        "retention": ("s3:PutObjectRetention", "s3:PutObjectRetention"),
        "legal-hold": ("s3:PutObjectLegalHold", "s3:PutObjectLegalHold"),
    },
    "DELETE": {
        "tagging": ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        "uploadId": ("s3:AbortMultipartUpload", "s3:AbortMultipartUpload"),
    },
    "POST": {
        "restore": ("s3:RestoreObject", "s3:RestoreObject"),
        "select": ("s3:GetObject", "s3:GetObject"),
    },
}
_PLAIN_OBJECT = {
    "GET": ("s3:GetObject", "s3:GetObjectVersion"),
    "PUT": ("s3:PutObject", "s3:PutObject"),
    "POST": ("s3:PutObject", "s3:PutObject"),  # multipart create/complete are PutObject
    "DELETE": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}
_BUCKET_ACTIONS = {
    "GET": (("versions", "s3:ListBucketVersions"), ("uploads", "s3:ListBucketMultipartUploads"), ("", "s3:ListBucket")),
    "POST": (("delete", "s3:DeleteObject"), ("", "s3:PutObject")),  # DeleteObjects checks DeleteObject
    "PUT": (("", "s3:CreateBucket"),),
    "DELETE": (("", "s3:DeleteBucket"),),
}


def s3_action(method: str, key: str | None, query: Mapping[str, list[str]]) -> str:
    """The IAM action S3 checks for this request (HEAD is checked as GET)."""
    method = "GET" if method.upper() == "HEAD" else method.upper()
    if not key:
        for sub, action in _BUCKET_ACTIONS.get(method, ()):
            if not sub or sub in query:
                return action
        raise ValueError(f"{method} on a bucket is not an S3 operation")
    if method not in _PLAIN_OBJECT:
        raise ValueError(f"{method} on an object is not an S3 operation")
    versioned = 1 if "versionId" in query else 0
    for sub, actions in _OBJECT_SUBRESOURCES.get(method, {}).items():
        if sub in query:
            return actions[versioned]
    return _PLAIN_OBJECT[method][versioned]
