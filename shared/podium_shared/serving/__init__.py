"""Model serving: deploy vLLM / SGLang / Ollama, model pools, business Services, pool-safe scaling.

Pure domain modules (labels, naming, engines, cmdline, manifests, pool, curl, describe) need no cluster;
`commands` and `pool_scaling` execute against one through the operations pipeline."""
