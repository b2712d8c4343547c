// Tests reach the service cluster through TestSupport, as before it moved to Harness.
@_exported import Harness
