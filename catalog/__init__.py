"""The catalog: open-weight models, licences, GPUs and prices, each fact with its source."""

from catalog.loader import CatalogError, Problem, load_raw
from catalog.query import Catalog, LookupFailed, get_catalog, normalize

__all__ = ["Catalog", "CatalogError", "LookupFailed", "Problem", "get_catalog", "load_raw", "normalize"]
