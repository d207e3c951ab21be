"""Statistics: data elements, periods, values, roll-ups, targets and assessment."""
