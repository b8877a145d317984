"""The Go↔Python contract, declared once: every function the Go server calls (registry.py), the
request and answer models they share (models.py), and the document Go's code is generated from
(document.py). See CONTRIBUTING.md, "Adding an entry point"."""
