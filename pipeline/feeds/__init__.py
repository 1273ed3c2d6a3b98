"""RSS 2.0, Atom 1.0, RSS 1.0/RDF and JSON Feed ingestion: feed list, fetching, landing, parsing, health."""
