#!/usr/bin/env bash
# Every GPU figure of docs/benchmarks.md in one run on a CUDA machine (needs a CUDA build of torch):
#   1. bench/memory.py: the memory estimate vs torch.cuda.max_memory_allocated, 3 models x 3 plans
#   2. bench/train.py: tokens/s of (a) (b) (c), the plain engine and lora-lens, both embedded models,
#      bf16 autocast + SDPA (the recipe's "auto" precision), MFU against the chip's dense bf16 peak
# and appends a dated section with the device and the raw outputs to docs/benchmarks.md.
#     bash bench/gpu.sh                 # about 5 minutes on one H100/H200-class GPU
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU: nothing to measure')"
out="$(mktemp -d)"
device="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
python -m core warm > /dev/null
python bench/memory.py --steps 3 2>&1 | tee "$out/memory.txt"
python bench/train.py --steps 30 --batch 16 --seq-len 256 --rows 1000 --repeats 2 \
  --json "$out/train.json" 2>&1 | grep -v -e Loading -e Warning -e warn | tee "$out/train.txt"
{
  echo
  echo "## GPU run, $(date -u '+%Y-%m-%d %H:%M UTC'), $device"
  echo
  echo "torch $(python -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')."
  echo
  echo '`python bench/memory.py --steps 3`'
  echo '```'; cat "$out/memory.txt"; echo '```'
  echo
  echo '`python bench/train.py --steps 30 --batch 16 --seq-len 256 --rows 1000 --repeats 2`'
  echo '```'; cat "$out/train.txt"; echo '```'
} >> docs/benchmarks.md
echo "appended to docs/benchmarks.md (raw files in $out)"
