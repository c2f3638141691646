"""evalkit.audit — registry audit (登记数据审核).

* :func:`evalkit.audit.crosscheck.cross_check` — data comparison with department lists (数据比对)
* :func:`evalkit.audit.snapshots.compare_registries` — snapshot comparison (动态调整)
* :func:`evalkit.audit.quality.quality_report` — data-quality report (数据清洗)
* :mod:`evalkit.audit.synthetic` — department lists and a second-year snapshot with known differences

Methods: docs/methodology/audit.md.
"""
