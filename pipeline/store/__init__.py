"""The storage layer: all SQL of the package, one repository per aggregate behind a ``Warehouse``."""

from pipeline.store.connection import WarehouseBusy, WarehouseMissing, WarehouseUnusable
from pipeline.store.warehouse import Warehouse, open_warehouse

__all__ = ["Warehouse", "WarehouseBusy", "WarehouseMissing", "WarehouseUnusable", "open_warehouse"]
