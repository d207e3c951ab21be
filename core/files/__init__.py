"""Reading the files operators load: text in any supported compression, CSV, reports of bad rows."""
