"""The browser faces of the API: the review page at `/` and an offline GraphiQL."""
