// LPAEdge
