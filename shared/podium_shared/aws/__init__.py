"""Pure boto3 plumbing: sessions and clients per cluster (region, optional assumed role), error
classification, the EKS bearer token. No domain logic and no knowledge of any emulator: endpoints come from
botocore's own configuration (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, config files)."""
