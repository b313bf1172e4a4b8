import { ApiProperty } from '@nestjs/swagger';

export class HealthDto {
  @ApiProperty({ example: 'ok' }) status: string;
}

export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] }) status: string;
  @ApiProperty({ enum: ['ok', 'unavailable'] }) database: string;
  @ApiProperty({ enum: ['ok', 'unavailable'] }) bus: string;
}
