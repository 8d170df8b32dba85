"""IAM: the role and MRAP policies read from the template, and their evaluation."""
