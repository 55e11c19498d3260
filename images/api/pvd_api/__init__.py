"""pvd_api: a thin layer around PaddleX's own serving app for the PaddleOCR-VL pipelines.

It builds the pipeline and the FastAPI app exactly as ``paddlex --serve`` does, in the same
process, and adds what a deployment needs: a request size limit, clear 4xx answers for bad
input, clear 5xx answers that name the VLM server when it fails, and a VLM readiness probe.
PaddleX's request and response schema is left unchanged.
"""

__version__ = "0.1.0"
