// LPAIdentity
