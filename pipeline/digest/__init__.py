"""The daily digest: built from the warehouse, rendered to HTML/text/Markdown, archived, emailed once."""
