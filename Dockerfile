FROM python:3.11-slim
WORKDIR /srv/examroom
# DejaVu Sans is embedded in PDF protocols and summary sheets (Cyrillic text).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN pip install --no-cache-dir . && useradd --system examroom && mkdir -p /var/lib/examroom && chown examroom /var/lib/examroom
ENV EXAMROOM_WEB_DIR=/srv/examroom/web
USER examroom
EXPOSE 8080
CMD ["examroom", "serve", "--host", "0.0.0.0"]
