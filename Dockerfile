# Airflow 3.3 image with this project's providers and code.
FROM apache/airflow:3.3.2-python3.11
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libmariadb-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
USER airflow
# Named volumes mounted here inherit the airflow user as owner.
RUN mkdir -p /opt/airflow/staging /opt/airflow/auth && chmod g+rwx /opt/airflow/staging /opt/airflow/auth
COPY requirements.txt constraints.txt /opt/airflow/
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt -c /opt/airflow/constraints.txt
COPY dags /opt/airflow/dags
COPY plugins /opt/airflow/plugins
COPY include /opt/airflow/include
# The reusable parts as the binance-airflow distribution: its entry point registers the `binance` connection type.
COPY pyproject.toml README.md /opt/airflow/
RUN pip install --no-cache-dir --no-deps /opt/airflow
ENV PYTHONPATH=/opt/airflow:/opt/airflow/plugins
