"""CloudFront: the edge server, the distribution read from the template, its cache, and the
Lambda@Edge event/result contract."""
