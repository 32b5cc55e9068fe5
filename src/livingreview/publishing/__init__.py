"""Publishing: the book (chapters, charts, pages, PDF), the data package, claims.json and the feed."""
