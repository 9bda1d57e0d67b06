"""`mlinfra render`: the files a target deploys, written deterministically and without Pulumi."""
