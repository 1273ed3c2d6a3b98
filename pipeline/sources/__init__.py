"""Where articles come from: seed documents and RSS/Atom/RDF/JSON feeds."""
