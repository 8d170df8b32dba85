"""The local stand-in for the AWS side: edge, MRAP endpoint and buckets on loopback."""
