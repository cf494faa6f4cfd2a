"""Reports: reliability indices, compliance, bulletins, charts and maps."""
