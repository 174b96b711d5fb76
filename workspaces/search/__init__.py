"""Search: hybrid retrieval, reranking and the term statistics BM25 reads."""
