# Papeleo image: the API, every Celery worker, beat, Flower and the one-shot migrate job
# all run from this one image; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OMP_THREAD_LIMIT=1 \
    PAPELEO_DATA_DIR=/data

# OCR toolchain from Debian: tesseract 5 with Spanish, English and OSD (rotation) data,
# poppler for pdf2image; DejaVu Sans Condensed for payslip names beyond Windows-1252.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng tesseract-ocr-osd poppler-utils \
        fonts-dejavu-extra \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 papeleo \
    && useradd --system --uid 10001 --gid papeleo --home-dir /app --shell /usr/sbin/nologin papeleo \
    && install -d -o papeleo -g papeleo /app /data

# Dependencies first, from pyproject alone, so a code change does not reinstall them.
COPY pyproject.toml /src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . /src
RUN pip install --no-deps /src && rm -rf /src

USER papeleo
WORKDIR /app
EXPOSE 8000
CMD ["papeleo", "api"]
