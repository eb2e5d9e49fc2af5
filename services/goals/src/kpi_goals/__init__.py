"""kpi-cascade goals service."""
