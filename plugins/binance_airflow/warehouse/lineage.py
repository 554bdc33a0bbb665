"""OpenLineage datasets of the warehouse's tables and of the staging files loaded into them.

Reported to Airflow's hook lineage collector (a no-op unless a lineage reader such as the OpenLineage provider is
configured): by the ETL steps, the raw captures and staging folders they read and write (common.io's
``file://host/path`` Assets); by a load, the staging folder it read and the tables it wrote, by their Assets
(``mysql-warehouse://<warehouse connection>/<table>``, the Assets the publish tasks emit) with the rows it wrote.
``to_openlineage`` (registered for the scheme in ``provider_info``) names a table as the OpenLineage naming spec
names MySQL tables, from the connection when the event is built: namespace ``mysql://host:port``, name
``database.table``, with the table's columns (schema facet) and, for a load, the rows written (output statistics).
The SQL operators' own lineage (the views, the gates) names the same tables the same way, so the graph joins up.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import BaseHook
from airflow.sdk.lineage import get_hook_lineage_collector

from binance_airflow.warehouse import summaries
from binance_airflow.warehouse.connection import database
from binance_airflow.warehouse.tables import TABLES


def file_uri(path: Path | str) -> str:
    """The Asset URI of a local file or folder (``file://host/path``), as common.io's file Assets name them."""
    return f"file://{socket.gethostname()}{Path(path).resolve()}"


def report_files(context: Any, read: tuple[Path, ...] = (), wrote: tuple[Path, ...] = ()) -> None:
    """A task read the files or folders ``read`` and wrote ``wrote`` (raw captures, staging folders)."""
    collector = get_hook_lineage_collector()
    for path in read:
        collector.add_input_asset(context=context, uri=file_uri(path))
    for path in wrote:
        collector.add_output_asset(context=context, uri=file_uri(path))


def report_load(context: Any, table: str, staged: Path | str, rows: int) -> None:
    """A load read ``staged`` (a staging file or folder) and wrote ``rows`` rows of ``table``."""
    get_hook_lineage_collector().add_input_asset(context=context, uri=file_uri(staged))
    report_written(context, table, rows)


def report_read(context: Any, table: str) -> None:
    """``context`` read ``table`` (outside a SQL operator, which reports its own)."""
    get_hook_lineage_collector().add_input_asset(context=context, uri=TABLES[table].asset.uri)


def report_written(context: Any, table: str, rows: int) -> None:
    """``context`` wrote ``rows`` rows of ``table`` (and, for fact_kline, its summaries)."""
    collector = get_hook_lineage_collector()
    collector.add_output_asset(context=context, uri=TABLES[table].asset.uri, asset_extra={"rows": rows})
    if table == summaries.SOURCE:
        for kept in (summaries.DAILY, summaries.SERIES):
            collector.add_output_asset(context=context, uri=TABLES[kept].asset.uri)


def _namespace(conn_id: str) -> str:
    conn = BaseHook.get_connection(conn_id)
    return f"mysql://{conn.host}:{conn.port or 3306}"


def to_openlineage(asset: Any, lineage_context: Any) -> Any:
    """The OpenLineage dataset of a warehouse table's Asset (an output dataset with its row count when the Asset
    carries one)."""
    from openlineage.client.event_v2 import Dataset, OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset, schema_dataset

    uri = urlsplit(asset.uri)
    conn_id, table = uri.netloc, uri.path.strip("/")
    namespace, name = _namespace(conn_id), f"{database(conn_id)}.{table}"
    spec = TABLES.get(table)
    fields = [schema_dataset.SchemaDatasetFacetFields(name=column) for column in (spec.columns if spec else ())]
    facets = {"schema": schema_dataset.SchemaDatasetFacet(fields=fields)} if fields else {}
    rows = (asset.extra or {}).get("rows")
    if rows is None:
        return Dataset(namespace=namespace, name=name, facets=facets)
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=int(rows))
    return OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets={"outputStatistics": statistics})


def sanitize_uri(uri: Any) -> Any:
    """Airflow's URI check for the scheme: a connection id and a table."""
    if not uri.netloc or uri.path.strip("/").count("/"):
        raise ValueError(f"{uri.geturl()}: expected mysql-warehouse://<connection id>/<table>")
    return uri


class WarehouseLineage:
    """For the common.sql operators on the warehouse (the schema and views, the gates): their OpenLineage datasets
    named as the loads name them, from their SQL as openlineage_sql reads it in MySQL's dialect, each view with
    its column lineage. (The provider's MySQL naming prefixes the database twice when an operator names its
    database, and otherwise looks the table up in every database of the server.)"""

    conn_id: str
    database: str | None

    def lineage_sql(self) -> list[str]:
        """The statements whose tables are this task's inputs and outputs (its rendered ``sql``)."""
        sql = self.sql  # type: ignore[attr-defined]
        return [sql] if isinstance(sql, str) else list(sql)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import Dataset
        from openlineage.client.facet_v2 import column_lineage_dataset as lineage
        from openlineage_sql import parse

        namespace, db = _namespace(self.conn_id), self.database or database(self.conn_id)
        inputs: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        for statement in self.lineage_sql():
            meta = parse([statement], dialect="mysql", default_schema=db)
            if meta is None:
                continue
            read = {table.qualified_name for table in meta.in_tables}
            inputs |= {name: Dataset(namespace=namespace, name=name) for name in read}
            fields: dict[str, Any] = {}
            for column in meta.column_lineage:  # the parser's, its origins kept where they are tables read
                sources = [
                    lineage.InputField(namespace=namespace, name=origin.origin.qualified_name, field=origin.name)
                    for origin in column.lineage
                    if origin.origin is not None and origin.origin.qualified_name in read
                ]
                if sources:
                    fields[column.descendant.name] = lineage.Fields(inputFields=sources)
            for table in meta.out_tables:
                facets = {"columnLineage": lineage.ColumnLineageDatasetFacet(fields=fields)} if fields else {}
                outputs[table.qualified_name] = Dataset(namespace=namespace, name=table.qualified_name, facets=facets)
        return OperatorLineage(inputs=list(inputs.values()), outputs=list(outputs.values()))


class WarehouseQuery(WarehouseLineage, SQLExecuteQueryOperator):
    """SQLExecuteQueryOperator on the warehouse, its lineage named as the loads name the tables."""
