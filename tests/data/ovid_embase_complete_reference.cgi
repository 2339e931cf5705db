<1. >
VN  - Ovid Technologies
DB  - Embase
UI  - 900000001
ST  - CONFERENCE ABSTRACT
TI  - An invented conference abstract on quality of life: a fixture.
SO  - Fixture Proceedings. Conference: 1st Invented Meeting. Nowhere. 1 (Supplement 1) (no pagination), 2018.
AU  - Example A.B.
AU  - Sample C.
IN  - (Example) Fixture University, Testtown, Nowhere
      (Sample) Institute of Placeholders, Testtown, Nowhere
MH  - human
MH  - *quality of life
AB  - Method(s): Invented.
Result(s): None.
YR  - 2018
EM  - 201801

<2. >
VN  - Ovid Technologies
DB  - Embase
UI  - 900000002
TI  - A second invented Embase record.
SO  - Journal of Fixture Research. 12 (3) (pp 101-109), 2021.
AU  - Sample C.
YR  - 2021
