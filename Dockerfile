FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY aivideo ./aivideo
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
ENV AIVIDEO_DATA_DIR=/data
EXPOSE 8000
CMD ["aivideo", "serve", "--host", "0.0.0.0", "--port", "8000"]
