"""Live sync: file events -> sync rules -> files into running containers, restarts, rebuilds."""
