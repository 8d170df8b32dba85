"""S3: the Multi-Region Access Point endpoint, its SigV4A/S3 request verifier, and the buckets."""
