"""Pure torch maths of the advisor's cheap proxies (no model, no Lightning): one file per proxy."""
