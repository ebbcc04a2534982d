"""Full-text search: the Whoosh side of it, a derived copy of the published catalogue.

- ``analysis``: Italian analysis, the words indexed and searched (stems, stop words, accents).
- ``index``: the index folder and its generations, the schema, the codec, writing documents.
- ``facets``: per-document facet values of a searcher generation, as numpy arrays.
- ``scoring``: BM25F matching and scoring of parsed queries over whole posting lists, with numpy.
- ``query``: a search request run in the index, one page of results with counts.
- ``spelling``: "Forse cercavi", corrections of rare or unknown words.
- ``snippets``: pieces of a result's text around the searched words.

The index documents themselves are built by ``catalogue/indexing.py``.
"""
