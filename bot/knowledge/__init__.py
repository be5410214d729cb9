"""The service side of /tip and /sota: imported leaderboards, arXiv and Papers-with-Code clients."""
