"""The seed studies reproduced on our encoder (issue 6): NSMC data-size scaling, embedding maps, layer probing.

One stage per module; each writes a small JSON report under ``reports/`` that the app's pages read:

- ``nsmc_scaling`` (``python train.py nsmc-scaling``): fine-tune on 10k..50k reviews -> ``nsmc_scaling.json``
- ``embeddings`` (``python -m mbti_core embeddings``): PCA / t-SNE 3-D maps -> ``embeddings.json``
- ``probing`` (``python -m mbti_core probe``): per-layer linear probes -> ``probing.json``
"""
