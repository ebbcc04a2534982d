"""Open data: downloads of any search, the published data standard, the DCAT-AP_IT catalogue,
feeds, structured data, and the conditional answers that let harvesters skip what they have."""
