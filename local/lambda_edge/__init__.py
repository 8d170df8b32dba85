"""Lambda@Edge: a bounded pool of warm worker processes running the deployment zip."""
